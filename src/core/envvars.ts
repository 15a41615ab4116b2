const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidEnvName(name: string): boolean {
  return NAME.test(name);
}

/** Names whose values must never be stored raw (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, AUTH…). */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE)/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name) && name !== "PWD" && name !== "OLDPWD";
}

export const REDACTED = "<redacted>";

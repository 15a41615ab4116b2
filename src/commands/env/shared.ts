import { isValidEnvName } from "../../core/envvars.ts";
import { RoarError, UsageError } from "../../shared/errors.ts";

export function checkEnvName(name: string): void {
  if (!isValidEnvName(name)) {
    throw new UsageError(
      `invalid environment variable name '${name}': use letters, digits and _, not starting with a digit`,
    );
  }
}

export function notSet(name: string): RoarError {
  return new RoarError(`environment variable not set: ${name} (see 'roar env list')`);
}

// Files imported `with { type: "text" }` are embedded as strings (also in compiled executables).
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.js" {
  const text: string;
  export default text;
}

/** Whether an object has an enumerable key, without making the array Object.keys would (loops over every file). */
export function hasKeys(object: object | undefined): boolean {
  for (const _ in object) return true;
  return false;
}

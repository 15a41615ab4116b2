import type { FilterSettings } from "../../src/core/filters.ts";

/** The filters as a new project's config sets them (every drop on, repository files not tracked). */
export const DEFAULT_FILTERS: FilterSettings = {
  ignoreSystemReads: true,
  ignorePackageReads: true,
  ignoreTorchCache: true,
  ignoreTmpFiles: true,
  trackRepoFiles: false,
  ignorePaths: [],
};

'use strict';
// Node's own import(), reached through require() so that nothing rewrites it: test runners and
// bundlers transform import() in ES modules (vitest loads such modules its own way, with other
// errors and caching); plugins must load exactly as in production.
module.exports = function nativeImport(url) {
  return import(url);
};

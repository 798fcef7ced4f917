import path from 'node:path';

/** The repository's root: tests read its files and run its build from here, never from outside it. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The built CLI (`npm test` builds before jest runs). */
export const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'cli', 'main.js');

/** What stops a first run, in one line for the terminal (main.ts prints it and exits 1). */
export class FirstRunError extends Error {}

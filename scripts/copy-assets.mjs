// The files the service serves as they are (the live page: HTML, CSS, browser modules),
// copied beside the compiled code: every build (npm run build, the image, the tests'
// buildService) runs this after tsc, so dist/ is complete whoever built it.
import { cpSync } from 'node:fs';

cpSync('src/live/dashboard', 'dist/src/live/dashboard', { recursive: true });

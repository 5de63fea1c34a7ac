// What other features may import from api-key-limits/ (the rest is internal; .dependency-cruiser.cjs).
export { answerKeyRate } from './api-key-rate';
export { ChargesKeyInHandler, CountsEvents } from './rate-class';

// What other features may import from api-key-limits/ (the rest is internal; .dependency-cruiser.cjs).
export { ApiKeyLimitsModule } from './api-key-limits.module';
export { answerKeyRate } from './api-key-rate';
export { ApiKeyBudget } from './api-key-budget';
export { ApiKeyRateGate } from './api-key-rate-gate';
export { ChargesKeyInHandler, CountsEvents } from './rate-class';

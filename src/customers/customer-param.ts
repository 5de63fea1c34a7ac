import { validateBody } from '../common/validation/validate-body';
import { customerParamSchema } from './customer.schemas';

const validate = validateBody<{ externalId: string }>(customerParamSchema);

/** A customer id taken from a URL, held to the same rules as one in a request body. */
export function customerParam(externalId: string): string {
  return validate({ externalId }).externalId;
}

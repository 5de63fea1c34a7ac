// What other features may import from customers/ (the rest is internal; .dependency-cruiser.cjs).
export { customerParam } from './customer-param';
export { customerIdSchema } from './customer.schemas';
export { CustomersModule } from './customers.module';
export { CustomersService } from './customers.service';

import { Module } from '@nestjs/common';
import { Spool } from './spool';

@Module({
  providers: [Spool],
  exports: [Spool],
})
export class SpoolModule {}

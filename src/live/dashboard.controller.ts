import { Controller, Get, Headers, HttpCode, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { Public } from '../common/access/auth.decorators';
import { DashboardAssets } from './dashboard-assets';

/**
 * The live page for analysts: public files (the page signs in with a key in the browser).
 * Every file is named in DashboardAssets and held in memory, so a path never reaches the
 * file system, and nothing is fetched from elsewhere at run time.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  private readonly assets = new DashboardAssets();

  @Get()
  @Public()
  page(@Headers('if-none-match') etag: string | undefined, @Res() reply: FastifyReply): void {
    this.send('index.html', etag, reply);
  }

  @Get('assets/:name')
  @Public()
  @HttpCode(200)
  asset(
    @Param('name') name: string,
    @Headers('if-none-match') etag: string | undefined,
    @Res() reply: FastifyReply,
  ): void {
    this.send(name, etag, reply);
  }

  private send(name: string, etag: string | undefined, reply: FastifyReply): void {
    const asset = this.assets.get(name);
    if (!asset) throw new DomainError(ErrorCode.NotFound, 'No such dashboard file.');
    // Revalidated on every load (cheap: 304 by ETag), so a deploy shows at once.
    void reply.header('cache-control', 'no-cache').header('etag', asset.etag);
    if (etag === asset.etag) {
      void reply.status(304).send();
      return;
    }
    void reply.type(asset.contentType).send(asset.body);
  }
}

import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { readJsonBody } from './json-body';
import { ResponseWriter } from './response-writer';

/** Express: the request body, read by the reader both adapters share (see json-body.ts). */
function jsonBodyMiddleware(req: Request, _res: Response, next: NextFunction): void {
  readJsonBody(req).then((body) => {
    req.body = body;
    next();
  }, next);
}

/**
 * Body handling on Express, as Nest middleware. A body refused here still gets an X-Request-Id and a log
 * line: both are given to every request by the Node.js server, before any middleware. Fastify reads bodies in its content-type parser instead (registered by
 * fastify.platform.ts), which already runs after every middleware: a middleware there would consume
 * the stream Fastify is about to read. Also provides ResponseWriter, the seam through which headers and
 * cookies are written on either adapter.
 */
@Global()
@Module({ providers: [ResponseWriter], exports: [ResponseWriter] })
export class HttpPipelineModule implements NestModule {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  configure(consumer: MiddlewareConsumer): void {
    if (this.adapterHost.httpAdapter.getType() !== 'express') return;
    consumer.apply(jsonBodyMiddleware).forRoutes('{*path}');
  }
}

import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { jsonBody } from './json-body.middleware';
import { rejectHostileJson, requireJsonBody } from './request-shape.middleware';

/**
 * Body handling as Nest middleware, so that it runs after the request logger (which gives every
 * request its id): a body refused here still gets an X-Request-Id and a log line. Import this module
 * after LoggingModule.
 */
@Module({})
export class HttpPipelineModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requireJsonBody, jsonBody, rejectHostileJson).forRoutes('{*path}');
  }
}

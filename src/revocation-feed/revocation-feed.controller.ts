import {
  Controller,
  Headers,
  Inject,
  NotFoundException,
  ServiceUnavailableException,
  Sse,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { Public } from '../access/public.decorator';
import { ApiErrorResponse } from '../common/http/api-error-response.decorator';
import { authConfig, type AuthConfig } from '../config';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { RevocationFeed } from './revocation-feed.service';

/**
 * GET /api/auth/revocations: Server-Sent Events for services that verify access tokens themselves.
 * Not an access-token route (@Public for the JWT guard): it takes the feed's own credential.
 */
@ApiTags('auth')
@Controller('auth/revocations')
@Public()
export class RevocationFeedController {
  constructor(
    private readonly feed: RevocationFeed,
    private readonly crypto: TokenCrypto,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  @Sse()
  @ApiOperation({
    operationId: 'revocations',
    summary: 'Revoked sessions as Server-Sent Events, for services that verify access tokens themselves',
    description:
      'Authorization: Bearer <REVOCATION_FEED_TOKEN>. First a `snapshot` event ({"revoked":[{"sid","until"}]}: ' +
      'every revocation whose access tokens may still be valid), or, with a Last-Event-ID this feed wrote, ' +
      'the `revoked` events after it; then one `revoked` event ({"sid","until"}) per revoked session, and a ' +
      '`heartbeat` event every 500 ms. `until`: Unix seconds after which no access token of the session can be valid.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received' })
  @ApiOkResponse({
    description: 'The event stream',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'event: revoked\nid: 1796100000000-6650f0c2a1b2c3d4e5f60719\ndata: {"sid":"6650f0c2a1b2c3d4e5f60719","until":1796101020}\n\n',
      },
    },
  })
  @ApiErrorResponse(401, 'No feed credential, or another one', { unauthorized: 'Unauthorized' })
  @ApiErrorResponse(404, 'The feed is off: REVOCATION_FEED_TOKEN is not set', { notFound: 'Not Found' })
  @ApiErrorResponse(503, 'The instance is shutting down: connect to another one', {
    shuttingDown: 'Shutting down',
  })
  revocations(
    @Headers('authorization') authorization: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
  ): Observable<MessageEvent> {
    const expected = this.config.revocationFeedToken;
    if (expected === undefined) throw new NotFoundException();
    const presented = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
    // Digests first: equal lengths for the constant-time comparison, whatever was presented.
    if (!this.crypto.equals(this.crypto.digest(presented), this.crypto.digest(expected))) {
      throw new UnauthorizedException();
    }
    // Shutting down: a new stream would keep the drain waiting; the service reconnects elsewhere.
    if (this.feed.closing) throw new ServiceUnavailableException('Shutting down');
    return this.feed.stream(lastEventId);
  }
}

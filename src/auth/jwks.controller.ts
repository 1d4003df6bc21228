import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../access/public.decorator';
import { ApiErrorResponse } from '../common/http/api-error-response.decorator';
import { AccessTokenSigner } from '../crypto/access-token-signer.service';
import { JwkSetDto, toJwkSet } from './dto/jwk-set.dto';

/**
 * How long services may keep the key set. A rotation publishes the new key (in ACCESS_TOKEN_PREVIOUS_KEYS)
 * for longer than this before any instance signs with it: docs/http-api.md, Tokens.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

@ApiTags('auth')
@Controller('.well-known')
@Public()
export class JwksController {
  constructor(private readonly signer: AccessTokenSigner) {}

  @Get('jwks.json')
  @Header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  @ApiOperation({
    operationId: 'jwks',
    summary: 'The public keys that verify access tokens (ACCESS_TOKEN_ALGORITHM=EdDSA or ES256)',
  })
  @ApiOkResponse({ description: 'The JWK set (RFC 7517)', type: JwkSetDto })
  @ApiErrorResponse(404, 'HS256 mode: access tokens are signed with a secret, there is no public key', {
    notFound: 'Not Found',
  })
  jwks(): JwkSetDto {
    const set = this.signer.publicKeySet();
    if (!set) throw new NotFoundException();
    return toJwkSet(set.keys);
  }
}

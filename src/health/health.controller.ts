import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/decorators/public.decorator';
import { ErrorResponseDto } from '../common/http/error-response.dto';
import { DatabaseHealthIndicator } from './database.health';

const DATABASE_PING_TIMEOUT_MS = 1500;

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'readiness', summary: 'Readiness: the database answers a ping' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: { database: { status: 'up' } } } } })
  @ApiServiceUnavailableResponse({ description: 'The database is unreachable', type: ErrorResponseDto })
  async readiness() {
    try {
      const result = await this.health.check([
        () => this.database.ping('database', DATABASE_PING_TIMEOUT_MS),
      ]);
      return { status: result.status, info: result.info };
    } catch {
      throw new ServiceUnavailableException('Database unreachable');
    }
  }

  @Get('live')
  @ApiOperation({ operationId: 'liveness', summary: 'Liveness: the process answers (touches no database)' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  liveness() {
    return { status: 'ok' };
  }
}

import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from '../access/public.decorator';
import { ApiErrorResponse } from '../common/http/api-error-response.decorator';
import { DatabaseHealthIndicator } from './database.health';
import { LivenessResponseDto, ReadinessResponseDto } from './dto/health-response.dto';

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
  @ApiOkResponse({ description: 'Ready to serve', type: ReadinessResponseDto })
  @ApiErrorResponse(503, 'The database did not answer a ping within 1.5 s', {
    databaseUnreachable: 'Database unreachable',
  })
  async readiness() {
    try {
      const result = await this.health.check([() => this.database.ping('database', DATABASE_PING_TIMEOUT_MS)]);
      return { status: result.status, info: result.info };
    } catch {
      throw new ServiceUnavailableException('Database unreachable');
    }
  }

  @Get('live')
  @ApiOperation({ operationId: 'liveness', summary: 'Liveness: the process answers (touches no database)' })
  @ApiOkResponse({ description: 'The process answers', type: LivenessResponseDto })
  liveness() {
    return { status: 'ok' };
  }
}

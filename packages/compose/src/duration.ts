/**
 * A Compose duration (`healthcheck.interval`, `stop_grace_period`: `1m30s`, `500ms`, `1.5h`)
 * in nanoseconds, by Go's `time.ParseDuration` grammar as compose-go reads it. One parser for
 * ctr: the Dockerfile's (HEALTHCHECK `--interval`), which throws an InvalidArgument CtrError
 * in Go's words naming the value (`time: invalid duration "10"`).
 */
export { parseDuration } from '@ctr/dockerfile';

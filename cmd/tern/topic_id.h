/* topic_id: topic ids by a raw Metadata v12 request.
 *
 * librdkafka 2.0.2 does not expose topic ids, so `tern topics --describe`
 * asks a broker directly over a plain TCP socket, with the project's own
 * Metadata codec. Blocking I/O with a deadline: this runs once per command.
 */
#ifndef TERN_CMD_TOPIC_ID_H
#define TERN_CMD_TOPIC_ID_H

#include <stdint.h>

/* Asks the first reachable server of `bootstrap` ("host:port[,host:port]")
 * for the ids of `names` (n topics). ids[i] receives the id of names[i], or
 * stays all zero when the broker does not know it. Returns 0, or -1 when no
 * server answered a valid response within timeout_ms (ids all zero). */
int topic_id_fetch(const char *bootstrap, const char *const *names, int n, uint8_t (*ids)[16],
		   int timeout_ms);

#endif

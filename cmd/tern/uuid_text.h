/* uuid_text: Kafka's textual form of a UUID (topic ids), as Java's
 * org.apache.kafka.common.Uuid#toString prints it: URL-safe base64 of the 16
 * bytes without padding, always 22 characters. */
#ifndef TERN_CMD_UUID_TEXT_H
#define TERN_CMD_UUID_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_TEXT_LEN 22

/* Writes 22 characters and a NUL into `out`. */
void uuid_text_format(const uint8_t uuid[16], char out[UUID_TEXT_LEN + 1]);
/* Parses the 22-character form. Returns 0, or -1 if `s` is not one. */
int uuid_text_parse(const char *s, uint8_t uuid[16]);
/* True for the all-zero UUID, which Kafka uses for "no id". */
bool uuid_text_is_zero(const uint8_t uuid[16]);

#endif

/* CRC-32C (Castagnoli), the checksum of Kafka record batches (magic 2). */
#ifndef TERN_PROTOCOL_CRC32C_H
#define TERN_PROTOCOL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over n bytes. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t n);

#endif

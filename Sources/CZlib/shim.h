#ifndef SERVICE_REGISTRY_CZLIB_SHIM_H
#define SERVICE_REGISTRY_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)); Swift cannot call it directly.
   windowBits 15 + 16 asks zlib for a gzip header and trailer. */
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
/* windowBits -15: raw deflate, no header or trailer (the caller writes the gzip framing). */
static inline int czlib_deflate_init_raw(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
/* A long-lived gzip stream with a small window (2^12) and memLevel 4: about 24 KB of zlib state instead of 384 KB,
   for one compressor per Server-Sent Events subscriber. */
static inline int czlib_deflate_init_gzip_small(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 12 + 16, 4, Z_DEFAULT_STRATEGY);
}
#endif

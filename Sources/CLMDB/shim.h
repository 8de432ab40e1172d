#ifndef SERVICE_REGISTRY_CLMDB_SHIM_H
#define SERVICE_REGISTRY_CLMDB_SHIM_H
#include <lmdb.h>
#endif

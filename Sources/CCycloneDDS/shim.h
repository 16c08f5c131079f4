// The Eclipse Cyclone DDS C API (libddsc, Debian package cyclonedds-dev).
// Only the bridge's targets import it: the SharedMemory library links no DDS.
// DDS_NDEBUG as CycloneDDS.pc's Cflags give it (some internal structs depend on it).
#ifndef DDS_NDEBUG
#define DDS_NDEBUG 1
#endif
#include <dds/dds.h>

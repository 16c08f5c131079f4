// The Eclipse Cyclone DDS C API (libddsc, found with pkg-config CycloneDDS).
// Only the bridge's targets import it: the SharedMemory library links no DDS.
#include <dds/dds.h>

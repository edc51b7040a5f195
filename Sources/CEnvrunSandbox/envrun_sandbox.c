#include "envrun_sandbox.h"
int envrun_sandbox_abi_version(void) { return 0; }

#ifndef ENVRUN_SANDBOX_H
#define ENVRUN_SANDBOX_H
/* C shim of the sandbox: the only code that calls clone, seccomp and execve. (issue 2) */
int envrun_sandbox_abi_version(void);
#endif

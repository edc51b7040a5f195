// zlib (Debian: zlib1g-dev), used by EnvrunTasks to read `.jsonl.gz` task files.
#include <zlib.h>

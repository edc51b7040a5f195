// Tests of EnvrunSandbox land with their issue.
import Testing

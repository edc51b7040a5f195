// Tests of EnvrunServer land with their issue.
import Testing

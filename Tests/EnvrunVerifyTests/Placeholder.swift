// Tests of EnvrunVerify land with their issue.
import Testing

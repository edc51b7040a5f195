// Tests of EnvrunTasks land with their issue.
import Testing

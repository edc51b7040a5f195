// Tests of EnvrunRM land with their issue.
import Testing

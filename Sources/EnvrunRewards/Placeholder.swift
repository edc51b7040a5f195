import EnvrunCore

# fish completion for litebox
set -l cmds run learn policy inspect overlay help
complete -c litebox -f
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a run -d 'run PROGRAM sandboxed'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a learn -d 'write a policy from a run'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a policy -d 'check, show or generate policies'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a inspect -d 'ELF facts of a program'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a overlay -d 'diff or apply an overlay directory'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -a help -d 'usage of a command'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -l version -d 'version and kernel features'
complete -c litebox -n "not __fish_seen_subcommand_from $cmds" -l help -d 'usage'

set -l runlike "__fish_seen_subcommand_from run learn"
complete -c litebox -n $runlike -s p -l policy -r -a 'default strict permissive (__fish_complete_suffix .policy)' -d 'policy file or profile'
complete -c litebox -n $runlike -l audit -d 'dry run: refuse nothing'
complete -c litebox -n $runlike -l log -r -F -d 'JSON Lines audit log'
complete -c litebox -n $runlike -l log-level -x -a 'refused all' -d 'what the log records'
complete -c litebox -n $runlike -l allow-read -r -F -d 'add a read rule'
complete -c litebox -n $runlike -l allow-write -r -F -d 'add a write rule'
complete -c litebox -n $runlike -l allow-exec -r -F -d 'add an exec rule'
complete -c litebox -n $runlike -l allow-connect -x -d 'add a connect rule'
complete -c litebox -n $runlike -l allow-bind -x -d 'add a bind rule'
complete -c litebox -n $runlike -l timeout -x -a '30s 90s 5m 10m 1h' -d 'kill the tree after DURATION'
complete -c litebox -n $runlike -l platform -x -a 'auto seccomp ptrace' -d 'how calls are trapped'
complete -c litebox -n $runlike -l fail-on-deny -d 'exit 123 if something was refused'
complete -c litebox -n $runlike -l overlay -r -a '(__fish_complete_directories)' -d 'changes to files land in DIR'
complete -c litebox -n $runlike -l dry-run -d 'audit over a throwaway overlay'
complete -c litebox -n $runlike -s q -l quiet -d 'no litebox messages'
complete -c litebox -n $runlike -s v -l verbose -d 'also show allowed accesses'
complete -c litebox -n $runlike -s h -l help -d 'usage'
complete -c litebox -n "__fish_seen_subcommand_from learn" -s o -l output -r -F -d 'learned policy'
complete -c litebox -n $runlike -a '(__fish_complete_command)'

complete -c litebox -n "__fish_seen_subcommand_from policy; and not __fish_seen_subcommand_from check show generate" -a 'check show generate'
complete -c litebox -n "__fish_seen_subcommand_from check show" -F
complete -c litebox -n "__fish_seen_subcommand_from show" -l explain -x -d 'verdicts for objects'
complete -c litebox -n "__fish_seen_subcommand_from generate" -l from -r -F -d 'audit log'
complete -c litebox -n "__fish_seen_subcommand_from generate" -s o -r -F -d 'output file'
complete -c litebox -n "__fish_seen_subcommand_from inspect" -l json -d 'one JSON object'
complete -c litebox -n "__fish_seen_subcommand_from inspect" -F
complete -c litebox -n "__fish_seen_subcommand_from overlay; and not __fish_seen_subcommand_from diff apply" -a 'diff apply'
complete -c litebox -n "__fish_seen_subcommand_from diff" -l patch -d 'unified diffs'
complete -c litebox -n "__fish_seen_subcommand_from diff apply" -a '(__fish_complete_directories)'
complete -c litebox -n "__fish_seen_subcommand_from help" -a 'run learn policy inspect overlay'

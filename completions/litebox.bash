# bash completion for litebox                                -*- shell-script -*-
_litebox()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
    fi
    local run_opts="-p --policy --audit --log --log-level --allow-read --allow-write
        --allow-exec --allow-connect --allow-bind --timeout --platform --fail-on-deny
        --overlay --dry-run
        -q --quiet -v --verbose -h --help"
    local cmd=${words[1]} i
    if [[ $cword -eq 1 ]]; then
        COMPREPLY=($(compgen -W "run learn policy inspect overlay help --version --help" -- "$cur"))
        return
    fi
    # After the program name, complete what the program would take.
    if [[ $cmd == run || $cmd == learn ]]; then
        for ((i = 2; i < cword; i++)); do
            case ${words[i]} in
            --) _command_offset $((i + 1)) 2>/dev/null; return ;;
            -p|--policy|--log|--log-level|--allow-*|--timeout|--platform|--overlay|-o|--output) ((i++)) ;;
            -*) ;;
            *) _command_offset $i 2>/dev/null; return ;;
            esac
        done
    fi
    case $prev in
    -p|--policy)
        COMPREPLY=($(compgen -W "default strict permissive" -- "$cur") $(compgen -f -X '!*.policy' -- "$cur") $(compgen -d -- "$cur"))
        return ;;
    --log-level) COMPREPLY=($(compgen -W "refused all" -- "$cur")); return ;;
    --platform) COMPREPLY=($(compgen -W "auto seccomp ptrace" -- "$cur")); return ;;
    --timeout) COMPREPLY=($(compgen -W "30s 90s 5m 10m 1h" -- "$cur")); return ;;
    --allow-connect|--allow-bind) COMPREPLY=($(compgen -W "tcp udp unix" -- "$cur")); return ;;
    --overlay) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --log|-o|--output|--from|--allow-read|--allow-write|--allow-exec)
        COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    case $cmd in
    run) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$run_opts" -- "$cur")) || COMPREPLY=($(compgen -c -- "$cur")) ;;
    learn) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$run_opts -o --output" -- "$cur")) || COMPREPLY=($(compgen -c -- "$cur")) ;;
    policy)
        if [[ $cword -eq 2 ]]; then
            COMPREPLY=($(compgen -W "check show generate -h --help" -- "$cur"))
        elif [[ $cur == -* ]]; then
            case ${words[2]} in
            show) COMPREPLY=($(compgen -W "--explain -h --help" -- "$cur")) ;;
            generate) COMPREPLY=($(compgen -W "--from -o -h --help" -- "$cur")) ;;
            *) COMPREPLY=($(compgen -W "-h --help" -- "$cur")) ;;
            esac
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi ;;
    inspect) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--json -h --help" -- "$cur")) || COMPREPLY=($(compgen -c -- "$cur") $(compgen -f -- "$cur")) ;;
    help) [[ $cword -eq 2 ]] && COMPREPLY=($(compgen -W "run learn policy inspect" -- "$cur")) ;;
    esac
}
complete -F _litebox litebox

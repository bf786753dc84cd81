/* SPDX-License-Identifier: MIT */
/* ELF inspection of the program litebox is asked to run (libelf). */
#ifndef LITEBOX_ELF_H
#define LITEBOX_ELF_H

#include <stdbool.h>
#include <stddef.h>

/* Why a program cannot be run; maps to exit 126 (or 127 for NOT_FOUND). */
enum lb_exec_problem {
	LB_EXEC_OK = 0,
	LB_EXEC_NOT_FOUND,	/* 127: no such file, not on PATH */
	LB_EXEC_NOT_EXECUTABLE, /* 126: no execute permission */
	LB_EXEC_IS_DIRECTORY,	/* 126 */
	LB_EXEC_EMPTY,		/* 126: zero-length file */
	LB_EXEC_NOT_ELF,	/* 126: neither ELF nor #! script */
	LB_EXEC_WRONG_CLASS,	/* 126: ELFCLASS32 */
	LB_EXEC_WRONG_MACHINE,	/* 126: not EM_X86_64 */
	LB_EXEC_CORRUPT,	/* 126: truncated/corrupt headers */
	LB_EXEC_BAD_INTERP,	/* 126: #! interpreter missing or itself unusable */
};

struct lb_elf_lib {
	char *name;	/* DT_NEEDED entry as written */
	char *resolved; /* absolute path it resolves to, or NULL if not found */
};

struct lb_program {
	char *path;	     /* absolute, resolved path of what is exec'd (the script for #!) */
	bool is_script;	     /* started with #! */
	char *script_interp; /* #! interpreter path as written (if is_script) */
	char *script_arg;    /* optional #! argument, or NULL */
	struct lb_program *interp_program; /* inspection of the #! interpreter (if is_script) */

	/* ELF facts (of path, or unset for scripts) */
	int elf_class;		  /* 64 */
	int machine;		  /* EM_X86_64 */
	const char *machine_name; /* "x86_64", "aarch64", "i386", ... static string */
	bool is_static;		  /* no PT_INTERP and no DT_NEEDED */
	bool is_pie;		  /* ET_DYN */
	char *interp;		  /* PT_INTERP, or NULL */
	char *runpath;		  /* DT_RUNPATH, or NULL */
	char *rpath;		  /* DT_RPATH, or NULL */
	struct lb_elf_lib *libs;  /* DT_NEEDED closure in load order (direct first) */
	size_t n_libs;
};

/* Find PROGRAM: a name containing '/' is taken as is, otherwise searched in
 * the PATH value given (NULL: "/usr/local/bin:/usr/bin:/bin").
 * Inspect it (and for #! scripts, the interpreter).
 * Returns 0 and *out on success; on a program that cannot be run returns
 * -ENOEXEC/-ENOENT/-EACCES... and sets *problem and a human detail message
 * into detail (e.g. "ELF machine is aarch64, litebox runs x86_64 only").
 * *out is still filled as far as known when the problem is a foreign machine
 * or class, so `inspect` can print it. Never prints. */
int lb_program_inspect(const char *program, const char *path_env, struct lb_program **out,
		       enum lb_exec_problem *problem, char *detail, size_t detail_len);

void lb_program_free(struct lb_program *p);

/* Exit status (126/127) for a problem. */
int lb_exec_problem_status(enum lb_exec_problem problem);

#endif

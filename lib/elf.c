/* SPDX-License-Identifier: MIT */
/* ELF inspection of the program litebox is asked to run.
 *
 * We find the program the way execvp() would, then read it the way the
 * kernel and the glibc dynamic loader would: binfmt_script rules for "#!"
 * lines, the ELF and program headers for the class, machine, PT_INTERP and
 * PT_DYNAMIC, and the loader's search order for every DT_NEEDED library.
 * Everything read from a file is treated as hostile: every offset and size
 * is checked against the file size before it is used. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "litebox/elf.h"
#include "litebox/util.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SCRIPT_BUF_SIZE 256 /* BINPRM_BUF_SIZE: the kernel reads this much of a #! line */
#define MAX_SCRIPT_DEPTH 4  /* nested #! interpreters we follow, like the kernel */
#define MAX_LIBS 1024	    /* bound on the DT_NEEDED closure */
#define MAX_LIB_DEPTH 32
#define MAX_NEEDED 512	    /* DT_NEEDED entries read per object */
#define MAX_DYN_STRING 4096 /* longest DT_NEEDED/RUNPATH string we accept */
#define MAX_CACHE_SIZE (64u << 20)

/* ld.so.cache "new" format (glibc >= 2.32 writes only this one). */
#define CACHE_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_HEADER_SIZE                                                                          \
	48		    /* magic+version 20, nlibs, len_strings, flags, pad, ext, unused[3]    \
			     */
#define CACHE_ENTRY_SIZE 24 /* flags, key, value, osversion, hwcap (u64) */
#define CACHE_FLAG_TYPE_MASK 0x00ff
#define CACHE_FLAG_ELF_LIBC6 0x0003
#define CACHE_FLAG_REQUIRED_MASK 0xff00
#define CACHE_FLAG_X8664_LIB64 0x0300

static const char *const default_lib_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
};

/* The public struct plus storage for a "machine N" name, so machine_name
 * can stay a borrowed string. Every lb_program is allocated as one. */
struct program_box {
	struct lb_program pub;
	char machine_buf[32];
};

/* What one call of lb_program_inspect needs everywhere. */
struct ctx {
	enum lb_exec_problem *problem;
	char *detail;
	size_t detail_len;
	unsigned char *cache; /* /etc/ld.so.cache, loaded on first use */
	size_t cache_size;
	bool cache_loaded;
};

/* The facts read from one ELF object. */
struct elf_facts {
	int elf_class;
	int machine;
	int type;
	char *interp;
	char *runpath;
	char *rpath;
	char **needed;
	size_t n_needed;
};

/* A loaded object of the closure (the program is object 0). */
struct object {
	char *origin; /* directory for $ORIGIN */
	char *runpath;
	char *rpath; /* NULL when the object has a RUNPATH: the loader ignores it then */
	char **needed;
	size_t n_needed;
	size_t parent; /* the object that needed it first; 0 for the program itself */
	int depth;
};

static void elf_endp(Elf **e)
{
	if (*e)
		elf_end(*e);
}
#define lb_autoelf __attribute__((cleanup(elf_endp)))

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void facts_free(struct elf_facts *f)
{
	free(f->interp);
	free(f->runpath);
	free(f->rpath);
	free_strv(f->needed, f->n_needed);
	*f = (struct elf_facts){0};
}

static void facts_freep(struct elf_facts *f)
{
	facts_free(f);
}

/* Record why the program cannot run; returns err (a -errno) for chaining. */
__attribute__((format(printf, 4, 5))) static int
fail(struct ctx *c, int err, enum lb_exec_problem problem, const char *fmt, ...)
{
	va_list ap;
	*c->problem = problem;
	if (c->detail && c->detail_len) {
		va_start(ap, fmt);
		vsnprintf(c->detail, c->detail_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int fail_nomem(struct ctx *c)
{
	*c->problem = LB_EXEC_OK; /* not the program's fault */
	if (c->detail && c->detail_len)
		snprintf(c->detail, c->detail_len, "out of memory");
	return -ENOMEM;
}

static const char *machine_name(int machine, int elf_class)
{
	switch (machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_386:
		return "i386";
	case EM_AARCH64:
		return "aarch64";
	case EM_ARM:
		return "arm";
	case EM_RISCV:
		return elf_class == 32 ? "riscv32" : "riscv64";
	case EM_PPC64:
		return "ppc64";
	case EM_PPC:
		return "ppc";
	case EM_S390:
		return elf_class == 32 ? "s390" : "s390x";
	case EM_MIPS:
		return "mips";
	case EM_SPARCV9:
		return "sparc64";
	case EM_LOONGARCH:
		return "loongarch64";
	default:
		return NULL;
	}
}

static struct program_box *program_new(const char *path)
{
	struct program_box *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->pub.path = strdup(path);
	if (!b->pub.path) {
		free(b);
		return NULL;
	}
	return b;
}

void lb_program_free(struct lb_program *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->script_interp);
	free(p->script_arg);
	lb_program_free(p->interp_program);
	free(p->interp);
	free(p->runpath);
	free(p->rpath);
	for (size_t i = 0; i < p->n_libs; i++) {
		free(p->libs[i].name);
		free(p->libs[i].resolved);
	}
	free(p->libs);
	free((struct program_box *)p); /* pub is the first member */
}

int lb_exec_problem_status(enum lb_exec_problem problem)
{
	return problem == LB_EXEC_NOT_FOUND ? 127 : 126;
}

/* ---- small file helpers --------------------------------------------------- */

/* Read exactly len bytes at off; -EIO on a short read. */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Whether [off, off+len) lies inside a file of `size` bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* A NUL-terminated string of at most max bytes inside [off, off+avail). */
static int read_cstr(int fd, uint64_t off, uint64_t avail, char **out)
{
	size_t len = avail < MAX_DYN_STRING ? (size_t)avail : MAX_DYN_STRING;
	if (len == 0)
		return -EINVAL;
	lb_autofree char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	int r = pread_full(fd, buf, len, (off_t)off);
	if (r < 0)
		return r;
	buf[len] = '\0';
	if (!memchr(buf, '\0', len))
		return -EINVAL; /* unterminated (or longer than we accept) */
	*out = steal_pointer(&buf);
	return 0;
}

/* ---- ELF headers ---------------------------------------------------------- */

/* Class, machine, type; the checks that decide whether we can run it. */
static int read_ident(struct ctx *c, Elf *elf, struct elf_facts *f)
{
	GElf_Ehdr eh;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: cannot read the ELF header");
	f->elf_class = eh.e_ident[EI_CLASS] == ELFCLASS64   ? 64
		       : eh.e_ident[EI_CLASS] == ELFCLASS32 ? 32
							    : 0;
	f->machine = eh.e_machine;
	f->type = eh.e_type;
	if (f->elf_class == 0)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: unknown ELF class %u", eh.e_ident[EI_CLASS]);
	if (f->elf_class != 64)
		return fail(c, -ENOEXEC, LB_EXEC_WRONG_CLASS,
			    "ELF class is 32-bit; litebox runs 64-bit x86_64 programs only");
	if (f->machine != EM_X86_64) {
		const char *name = machine_name(f->machine, f->elf_class);
		if (name)
			return fail(c, -ENOEXEC, LB_EXEC_WRONG_MACHINE,
				    "ELF machine is %s; litebox runs x86_64 programs only", name);
		return fail(c, -ENOEXEC, LB_EXEC_WRONG_MACHINE,
			    "ELF machine is machine %d; litebox runs x86_64 programs only",
			    f->machine);
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: x86_64 ELF is not little-endian");
	if (f->type != ET_EXEC && f->type != ET_DYN)
		return fail(c, -ENOEXEC, LB_EXEC_NOT_ELF, "ELF file is not an executable (type %d)",
			    f->type);
	return 0;
}

/* Number of program headers, checked to lie inside the file. */
static int checked_phnum(struct ctx *c, Elf *elf, uint64_t size, size_t *out)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: cannot read the ELF header");
	/* libelf quietly reports 0 headers when the table is past the end of
	 * the file; take the count from the header to say what is wrong. Only
	 * the PN_XNUM escape (real count in section 0) needs libelf. */
	size_t phnum = eh.e_phnum;
	if (phnum == PN_XNUM && elf_getphdrnum(elf, &phnum) != 0)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: bad program header count");
	if (phnum == 0)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: no program headers");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: program header size is %u, not %zu",
			    eh.e_phentsize, sizeof(Elf64_Phdr));
	if (phnum > size / sizeof(Elf64_Phdr) ||
	    !in_file(eh.e_phoff, phnum * sizeof(Elf64_Phdr), size))
		return fail(
		    c, -ENOEXEC, LB_EXEC_CORRUPT,
		    "truncated or corrupt ELF: program header table extends past end of file");
	*out = phnum;
	return 0;
}

static int read_interp(struct ctx *c, int fd, const GElf_Phdr *ph, uint64_t size,
		       struct elf_facts *f)
{
	char *s = NULL;
	if (f->interp)
		return 0; /* the kernel uses the first PT_INTERP */
	if (ph->p_filesz < 2 || ph->p_filesz > PATH_MAX ||
	    !in_file(ph->p_offset, ph->p_filesz, size))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: bad PT_INTERP segment");
	int r = read_cstr(fd, ph->p_offset, ph->p_filesz, &s);
	if (r == -ENOMEM)
		return fail_nomem(c);
	/* Like the kernel: the segment's last byte must be the terminator. */
	if (r < 0 || s[ph->p_filesz - 1] != '\0' || s[0] == '\0') {
		free(s);
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: PT_INTERP is not a NUL-terminated path");
	}
	f->interp = s;
	return 0;
}

/* File offset of a virtual address, through the PT_LOAD segments. */
static bool vaddr_to_offset(Elf *elf, size_t phnum, uint64_t vaddr, uint64_t *off, uint64_t *avail)
{
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = ph.p_offset + (vaddr - ph.p_vaddr);
			*avail = ph.p_filesz - (vaddr - ph.p_vaddr);
			return true;
		}
	}
	return false;
}

/* The interesting entries of PT_DYNAMIC (string offsets, not yet strings). */
struct dyn_refs {
	uint64_t strtab, strsz;
	bool has_strtab, has_strsz;
	uint64_t runpath, rpath;
	bool has_runpath, has_rpath;
	uint64_t needed[MAX_NEEDED];
	size_t n_needed;
};

static int scan_dynamic(struct ctx *c, Elf *elf, const GElf_Phdr *ph, uint64_t size,
			struct dyn_refs *d)
{
	if (!in_file(ph->p_offset, ph->p_filesz, size))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: dynamic segment extends past end of file");
	size_t count = (size_t)(ph->p_filesz / sizeof(Elf64_Dyn));
	Elf_Data *data = count ? elf_getdata_rawchunk(elf, (int64_t)ph->p_offset,
						      count * sizeof(Elf64_Dyn), ELF_T_DYN)
			       : NULL;
	if (count && !data)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: unreadable dynamic segment");
	for (size_t i = 0; i < count; i++) {
		GElf_Dyn dyn;
		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		switch (dyn.d_tag) {
		case DT_STRTAB:
			d->strtab = dyn.d_un.d_ptr;
			d->has_strtab = true;
			break;
		case DT_STRSZ:
			d->strsz = dyn.d_un.d_val;
			d->has_strsz = true;
			break;
		case DT_RUNPATH:
			d->runpath = dyn.d_un.d_val;
			d->has_runpath = true;
			break;
		case DT_RPATH:
			d->rpath = dyn.d_un.d_val;
			d->has_rpath = true;
			break;
		case DT_NEEDED:
			if (d->n_needed == MAX_NEEDED)
				return fail(
				    c, -ENOEXEC, LB_EXEC_CORRUPT,
				    "truncated or corrupt ELF: more than %d DT_NEEDED entries",
				    MAX_NEEDED);
			d->needed[d->n_needed++] = dyn.d_un.d_val;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* One dynamic string: offset `at` into the string table [off, off+len). */
static int dyn_string(struct ctx *c, int fd, uint64_t off, uint64_t len, uint64_t at, char **out)
{
	if (at >= len)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: dynamic string outside DT_STRTAB");
	int r = read_cstr(fd, off + at, len - at, out);
	if (r == -ENOMEM)
		return fail_nomem(c);
	if (r < 0)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: unterminated dynamic string");
	return 0;
}

static int read_dyn_strings(struct ctx *c, int fd, Elf *elf, size_t phnum, uint64_t size,
			    const struct dyn_refs *d, struct elf_facts *f)
{
	uint64_t off = 0, avail = 0;
	if (d->n_needed == 0 && !d->has_runpath && !d->has_rpath)
		return 0;
	if (!d->has_strtab || !d->has_strsz ||
	    !vaddr_to_offset(elf, phnum, d->strtab, &off, &avail) || d->strsz > avail ||
	    !in_file(off, d->strsz, size))
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
			    "truncated or corrupt ELF: bad dynamic string table");
	f->needed = calloc(d->n_needed ? d->n_needed : 1, sizeof(char *));
	if (!f->needed)
		return fail_nomem(c);
	for (size_t i = 0; i < d->n_needed; i++) {
		int r = dyn_string(c, fd, off, d->strsz, d->needed[i], &f->needed[i]);
		if (r < 0)
			return r;
		f->n_needed++;
	}
	int r = 0;
	if (d->has_runpath)
		r = dyn_string(c, fd, off, d->strsz, d->runpath, &f->runpath);
	if (r == 0 && d->has_rpath)
		r = dyn_string(c, fd, off, d->strsz, d->rpath, &f->rpath);
	return r;
}

static int read_segments(struct ctx *c, int fd, Elf *elf, uint64_t size, struct elf_facts *f)
{
	size_t phnum = 0;
	int r = checked_phnum(c, elf, size, &phnum);
	if (r < 0)
		return r;
	lb_autofree struct dyn_refs *d = calloc(1, sizeof(*d));
	if (!d)
		return fail_nomem(c);
	bool seen_dynamic = false;
	for (size_t i = 0; i < phnum && r == 0; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return fail(c, -ENOEXEC, LB_EXEC_CORRUPT,
				    "truncated or corrupt ELF: unreadable program header");
		if (ph.p_type == PT_INTERP)
			r = read_interp(c, fd, &ph, size, f);
		else if (ph.p_type == PT_DYNAMIC && !seen_dynamic) {
			seen_dynamic = true;
			r = scan_dynamic(c, elf, &ph, size, d);
		}
	}
	if (r == 0)
		r = read_dyn_strings(c, fd, elf, phnum, size, d, f);
	return r;
}

/* All we want from an ELF file open on fd. On a foreign class or machine
 * the identity in *f is still filled. */
static int read_elf(struct ctx *c, int fd, uint64_t size, struct elf_facts *f)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(c, -ENOEXEC, LB_EXEC_OK, "libelf is unusable: %s", elf_errmsg(-1));
	lb_autoelf Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return fail(c, -ENOEXEC, LB_EXEC_CORRUPT, "truncated or corrupt ELF: %s",
			    elf_errmsg(-1));
	int r = read_ident(c, elf, f);
	if (r == 0)
		r = read_segments(c, fd, elf, size, f);
	return r;
}

/* ---- ld.so.cache ---------------------------------------------------------- */

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p,
	       sizeof(v)); /* the cache is in host order; we only accept little-endian ones */
	return v;
}

static void cache_load(struct ctx *c)
{
	c->cache_loaded = true;
	lb_autoclose int fd = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < CACHE_HEADER_SIZE || (uint64_t)st.st_size > MAX_CACHE_SIZE)
		return;
	lb_autofree unsigned char *buf = malloc((size_t)st.st_size);
	if (!buf || pread_full(fd, buf, (size_t)st.st_size, 0) < 0)
		return;
	if (memcmp(buf, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0)
		return;		   /* the pre-2.32 combined old+new format is not supported */
	unsigned endian = buf[28]; /* 0: unset, 2: little, 3: big */
	uint64_t nlibs = get_u32(buf + 20);
	if ((endian != 0 && endian != 2) ||
	    nlibs > ((uint64_t)st.st_size - CACHE_HEADER_SIZE) / CACHE_ENTRY_SIZE)
		return;
	c->cache_size = (size_t)st.st_size;
	c->cache = steal_pointer(&buf);
}

/* A NUL-terminated string at off inside the cache, or NULL. */
static const char *cache_str(const struct ctx *c, uint32_t off)
{
	if (off >= c->cache_size || !memchr(c->cache + off, '\0', c->cache_size - off))
		return NULL;
	return (const char *)c->cache + off;
}

/* The path the cache gives for an x86-64 libc6 library called name. Entries
 * for glibc-hwcaps subdirectories (hwcap != 0) are ignored: which one the
 * loader picks depends on the CPU, the plain entry is always valid. */
static const char *cache_lookup(struct ctx *c, const char *name)
{
	if (!c->cache_loaded)
		cache_load(c);
	if (!c->cache)
		return NULL;
	uint32_t nlibs = get_u32(c->cache + 20);
	for (uint32_t i = 0; i < nlibs; i++) {
		const unsigned char *e =
		    c->cache + CACHE_HEADER_SIZE + (size_t)i * CACHE_ENTRY_SIZE;
		uint32_t flags = get_u32(e), hwcap_lo = get_u32(e + 16), hwcap_hi = get_u32(e + 20);
		if ((flags & CACHE_FLAG_TYPE_MASK) != CACHE_FLAG_ELF_LIBC6 ||
		    (flags & CACHE_FLAG_REQUIRED_MASK) != CACHE_FLAG_X8664_LIB64 || hwcap_lo ||
		    hwcap_hi)
			continue;
		const char *key = cache_str(c, get_u32(e + 4));
		if (key && strcmp(key, name) == 0)
			return cache_str(c, get_u32(e + 8));
	}
	return NULL;
}

/* ---- library resolution --------------------------------------------------- */

/* A library candidate: usable when it is a regular x86_64 ELF64 shared
 * object; then its canonical path and facts are returned. */
static int try_lib(const char *path, char **resolved, struct elf_facts *f)
{
	enum lb_exec_problem ignored = LB_EXEC_OK;
	struct ctx quiet = {.problem = &ignored};
	struct stat st;
	lb_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	int r = read_elf(&quiet, fd, (uint64_t)st.st_size, f);
	if (r == 0 && f->type != ET_DYN)
		r = -ENOEXEC;
	if (r == 0 && !(*resolved = realpath(path, NULL)))
		r = -errno;
	if (r < 0)
		facts_free(f);
	return r;
}

static bool is_ident_char(char ch)
{
	return ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

/* "$ORIGIN/../lib" -> "/opt/app/bin/../lib". NULL for an element with a
 * token we do not expand ($LIB, $PLATFORM): its value depends on the loader. */
static char *expand_origin(const char *elem, size_t len, const char *origin)
{
	size_t cap = len + 1, n = 0;
	for (size_t i = 0; i < len; i++)
		if (elem[i] == '$')
			cap += strlen(origin);
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (elem[i] != '$') {
			out[n++] = elem[i++];
			continue;
		}
		size_t tok = len - i >= 7 && memcmp(elem + i, "$ORIGIN", 7) == 0     ? 7
			     : len - i >= 9 && memcmp(elem + i, "${ORIGIN}", 9) == 0 ? 9
										     : 0;
		if (tok == 0 || (tok == 7 && i + 7 < len && is_ident_char(elem[i + 7]))) {
			free(out);
			return NULL;
		}
		memcpy(out + n, origin, strlen(origin));
		n += strlen(origin);
		i += tok;
	}
	out[n] = '\0';
	return out;
}

/* Search a colon-separated list of directories. Empty elements (which the
 * loader would take as the current directory) are skipped. */
static int search_dirs(const char *list, const char *origin, const char *name, char **resolved,
		       struct elf_facts *f)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ":");
		lb_autofree char *dir = len ? expand_origin(p, len, origin) : NULL;
		lb_autofree char *cand = NULL;
		if (dir && asprintf(&cand, "%s/%s", dir, name) < 0)
			cand = NULL;
		if (cand && try_lib(cand, resolved, f) == 0)
			return 0;
		p += len + (p[len] == ':');
	}
	return -ENOENT;
}

/* Where the loader would find `name` needed by object `who`:
 * DT_RPATH of who and of the objects that loaded it (only when who has no
 * DT_RUNPATH), [LD_LIBRARY_PATH], DT_RUNPATH of who, ld.so.cache, the
 * default directories. LD_LIBRARY_PATH is deliberately not consulted: we
 * describe the program, and the environment it runs with inside the sandbox
 * may differ from ours. */
static int resolve_lib(struct ctx *c, const struct object *objs, size_t who, const char *name,
		       char **resolved, struct elf_facts *f)
{
	if (strchr(name, '/'))
		return try_lib(name, resolved, f);
	if (!objs[who].runpath) {
		for (size_t o = who;; o = objs[o].parent) {
			if (search_dirs(objs[o].rpath, objs[o].origin, name, resolved, f) == 0)
				return 0;
			if (o == 0)
				break;
		}
	}
	if (search_dirs(objs[who].runpath, objs[who].origin, name, resolved, f) == 0)
		return 0;
	const char *cached = cache_lookup(c, name);
	if (cached && try_lib(cached, resolved, f) == 0)
		return 0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(default_lib_dirs); i++)
		if (search_dirs(default_lib_dirs[i], "", name, resolved, f) == 0)
			return 0;
	return -ENOENT;
}

static bool lib_listed(const struct lb_program *p, const char *name)
{
	for (size_t i = 0; i < p->n_libs; i++)
		if (strcmp(p->libs[i].name, name) == 0)
			return true;
	return false;
}

/* Turn the facts of a found library into a new object of the closure. */
static int add_object(struct object **objs, size_t *n, size_t parent, const char *path,
		      struct elf_facts *f)
{
	struct object *grown = realloc(*objs, (*n + 1) * sizeof(**objs));
	if (!grown)
		return -ENOMEM;
	*objs = grown;
	struct object *o = &grown[*n];
	*o = (struct object){.parent = parent, .depth = *n ? grown[parent].depth + 1 : 0};
	if (!(o->origin = lb_dirname_dup(path)))
		return -ENOMEM;
	o->runpath = steal_pointer(&f->runpath);
	o->rpath = o->runpath ? NULL : steal_pointer(&f->rpath);
	o->needed = steal_pointer(&f->needed);
	o->n_needed = f->n_needed;
	f->n_needed = 0;
	(*n)++;
	return 0;
}

static void objects_free(struct object *objs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(objs[i].origin);
		free(objs[i].runpath);
		free(objs[i].rpath);
		free_strv(objs[i].needed, objs[i].n_needed);
	}
	free(objs);
}

/* Append name => resolved to the program's list; owns resolved. */
static int append_lib(struct lb_program *p, const char *name, char *resolved)
{
	struct lb_elf_lib *grown = realloc(p->libs, (p->n_libs + 1) * sizeof(*grown));
	if (!grown) {
		free(resolved);
		return -ENOMEM;
	}
	p->libs = grown;
	grown[p->n_libs] = (struct lb_elf_lib){.name = strdup(name), .resolved = resolved};
	if (!grown[p->n_libs].name) {
		free(resolved);
		return -ENOMEM;
	}
	p->n_libs++;
	return 0;
}

/* Resolve the needed libraries of object i, queueing the ones found. */
static int visit_object(struct ctx *c, struct lb_program *p, struct object **objs, size_t *n,
			size_t i)
{
	for (size_t k = 0; k < (*objs)[i].n_needed && p->n_libs < MAX_LIBS; k++) {
		const char *name = (*objs)[i].needed[k];
		if (lib_listed(p, name))
			continue;
		char *resolved = NULL;
		__attribute__((cleanup(facts_freep))) struct elf_facts f = {0};
		bool found = resolve_lib(c, *objs, i, name, &resolved, &f) == 0;
		if (append_lib(p, name, resolved) < 0)
			return -ENOMEM;
		if (found && (*objs)[i].depth + 1 < MAX_LIB_DEPTH &&
		    add_object(objs, n, i, resolved, &f) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The DT_NEEDED closure, breadth first: direct dependencies first. */
static int resolve_closure(struct ctx *c, struct lb_program *p, struct elf_facts *f)
{
	struct object *objs = NULL;
	size_t n = 0;
	int r = add_object(&objs, &n, 0, p->path, f);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = visit_object(c, p, &objs, &n, i);
	objects_free(objs, n);
	return r < 0 ? fail_nomem(c) : 0;
}

/* ---- programs -------------------------------------------------------------- */

static int inspect_file(struct ctx *c, const char *path, int depth, struct lb_program **out);

static int inspect_elf(struct ctx *c, int fd, uint64_t size, struct lb_program *p)
{
	__attribute__((cleanup(facts_freep))) struct elf_facts f = {0};
	int r = read_elf(c, fd, size, &f);
	struct program_box *box = (struct program_box *)p;
	p->elf_class = f.elf_class;
	p->machine = f.machine;
	p->machine_name = machine_name(f.machine, f.elf_class);
	if (!p->machine_name) {
		snprintf(box->machine_buf, sizeof(box->machine_buf), "machine %d", f.machine);
		p->machine_name = box->machine_buf;
	}
	p->is_pie = f.type == ET_DYN;
	if (r < 0)
		return r;
	p->is_static = !f.interp && f.n_needed == 0;
	p->interp = steal_pointer(&f.interp);
	if ((f.runpath && !(p->runpath = strdup(f.runpath))) ||
	    (f.rpath && !(p->rpath = strdup(f.rpath))))
		return fail_nomem(c);
	r = resolve_closure(c, p, &f);
	if (r == 0 && p->interp && access(p->interp, F_OK) != 0)
		r = fail(c, -ENOENT, LB_EXEC_BAD_INTERP, "ELF interpreter %s: %s", p->interp,
			 strerror(errno));
	return r;
}

static bool spacetab(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The helpers of fs/binfmt_script.c: both scan [first, last] inclusive. */
static char *next_non_spacetab(char *first, const char *last)
{
	for (; first <= last; first++)
		if (!spacetab(*first))
			return first;
	return NULL;
}

static char *next_terminator(char *first, const char *last)
{
	for (; first <= last; first++)
		if (spacetab(*first) || *first == '\0')
			return first;
	return NULL;
}

/* Split a #! line exactly as fs/binfmt_script.c does. buf is the first 256
 * bytes, zero padded. The interpreter runs up to the first space/tab/NUL,
 * then one optional argument (inner blanks kept, trailing blanks trimmed).
 * A line without a newline in the buffer is accepted only when the
 * interpreter name visibly ends inside it. Modifies buf. */
static int parse_shebang(struct ctx *c, char *buf, char **name, char **arg)
{
	char *buf_end = buf + SCRIPT_BUF_SIZE - 1;
	char *i_end = NULL;
	for (char *s = buf; s <= buf_end && *s && !i_end; s++) /* strnchr stops at NUL */
		if (*s == '\n')
			i_end = s;
	if (!i_end) {
		i_end = next_non_spacetab(buf + 2, buf_end);
		if (!i_end)
			return fail(c, -ENOEXEC, LB_EXEC_BAD_INTERP,
				    "#! line names no interpreter");
		if (!next_terminator(i_end, buf_end))
			return fail(
			    c, -ENOEXEC, LB_EXEC_BAD_INTERP,
			    "#! line is longer than %d bytes; the interpreter name is cut off",
			    SCRIPT_BUF_SIZE - 1);
		i_end = buf_end;
	}
	while (spacetab(i_end[-1]))
		i_end--;
	char *i_name = next_non_spacetab(buf + 2, i_end);
	if (!i_name || i_name == i_end)
		return fail(c, -ENOEXEC, LB_EXEC_BAD_INTERP, "#! line names no interpreter");
	char *i_sep = next_terminator(i_name, i_end);
	char *i_arg = i_sep && *i_sep != '\0' ? next_non_spacetab(i_sep, i_end) : NULL;
	*i_end = '\0';
	if (i_sep)
		*i_sep = '\0';
	if (*i_name == '\0') /* "#!" then NUL: the kernel would look up "" */
		return fail(c, -ENOENT, LB_EXEC_BAD_INTERP, "#! line names no interpreter");
	*name = i_name;
	*arg = i_arg; /* may be "" (a NUL after the blanks): the kernel passes that on */
	return 0;
}

/* Inspect the interpreter of a script; its problems become BAD_INTERP. */
static int inspect_interp(struct ctx *c, struct lb_program *p, int depth)
{
	if (depth >= MAX_SCRIPT_DEPTH)
		return fail(c, -ELOOP, LB_EXEC_BAD_INTERP, "more than %d levels of #! interpreters",
			    MAX_SCRIPT_DEPTH);
	lb_autofree char *abs = realpath(p->script_interp, NULL);
	int r = abs ? inspect_file(c, abs, depth + 1, &p->interp_program) : -errno;
	if (!abs)
		fail(c, r,
		     r == -ENOENT || r == -ENOTDIR ? LB_EXEC_NOT_FOUND : LB_EXEC_NOT_EXECUTABLE,
		     "%s", r == -ENOENT || r == -ENOTDIR ? "not found" : strerror(-r));
	if (r < 0 && *c->problem != LB_EXEC_OK) {
		char inner[512];
		snprintf(inner, sizeof(inner), "%s", c->detail ? c->detail : "");
		bool nested =
		    *c->problem == LB_EXEC_BAD_INTERP && strncmp(inner, "#! interpreter ", 15) == 0;
		if (!nested)
			fail(c, r, LB_EXEC_BAD_INTERP, "#! interpreter %s: %s", p->script_interp,
			     inner);
		*c->problem = LB_EXEC_BAD_INTERP;
	}
	return r;
}

static int inspect_script(struct ctx *c, char *buf, int depth, struct lb_program *p)
{
	char *name = NULL, *arg = NULL;
	p->is_script = true; /* script_interp stays NULL when the #! line is unusable */
	int r = parse_shebang(c, buf, &name, &arg);
	if (r < 0)
		return r;
	if (!(p->script_interp = strdup(name)) || (arg && !(p->script_arg = strdup(arg))))
		return fail_nomem(c);
	return inspect_interp(c, p, depth);
}

/* The checks execve does before it looks at the contents. */
static int check_file(struct ctx *c, const char *path, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return fail(c, -EACCES, LB_EXEC_IS_DIRECTORY, "is a directory");
	if (!S_ISREG(st->st_mode))
		return fail(c, -EACCES, LB_EXEC_NOT_EXECUTABLE, "is not a regular file");
	if (access(path, X_OK) != 0)
		return fail(c, -EACCES, LB_EXEC_NOT_EXECUTABLE, "no execute permission");
	if (st->st_size == 0)
		return fail(c, -ENOEXEC, LB_EXEC_EMPTY, "is an empty file");
	return 0;
}

static int open_checked(struct ctx *c, const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return fail(c, -ENOENT, LB_EXEC_NOT_FOUND, "no such file");
		if (e == ENOMEM)
			return fail_nomem(c);
		return fail(c, -e, LB_EXEC_NOT_EXECUTABLE, "cannot be opened for inspection: %s",
			    strerror(e));
	}
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return fail(c, -e, LB_EXEC_NOT_EXECUTABLE, "cannot be inspected: %s", strerror(e));
	}
	int r = check_file(c, path, st);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Inspect the file at path (absolute and canonical). */
static int inspect_file(struct ctx *c, const char *path, int depth, struct lb_program **out)
{
	struct stat st;
	lb_autoclose int fd = open_checked(c, path, &st);
	if (fd < 0)
		return fd;
	char buf[SCRIPT_BUF_SIZE] = {0};
	ssize_t n;
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(c, -errno, LB_EXEC_NOT_EXECUTABLE, "cannot be read: %s",
			    strerror(errno));
	bool script = n >= 2 && buf[0] == '#' && buf[1] == '!';
	bool elf = n >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
	if (!script && !elf)
		return fail(c, -ENOEXEC, LB_EXEC_NOT_ELF, "not an ELF file or a #! script");
	struct program_box *box = program_new(path);
	if (!box)
		return fail_nomem(c);
	*out = &box->pub;
	if (script)
		return inspect_script(c, buf, depth, &box->pub);
	return inspect_elf(c, fd, (uint64_t)st.st_size, &box->pub);
}

/* ---- finding the program --------------------------------------------------- */

static bool is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Like execvp: the first executable regular file on PATH; failing that the
 * first non-executable one (so the user hears "no execute permission").
 * Directories are skipped. An empty element means the current directory. */
static int search_path(struct ctx *c, const char *name, const char *path_env, char **found)
{
	lb_autofree char *fallback = NULL;
	const char *p = path_env;
	for (;;) {
		size_t len = strcspn(p, ":");
		lb_autofree char *cand = NULL;
		if (asprintf(&cand, "%.*s%s%s", (int)len, p, len ? "/" : "", name) < 0)
			return fail_nomem(c);
		if (is_exec_file(cand)) {
			*found = steal_pointer(&cand);
			return 0;
		}
		if (!fallback && is_file(cand))
			fallback = steal_pointer(&cand);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (!fallback)
		return fail(c, -ENOENT, LB_EXEC_NOT_FOUND, "not found in PATH");
	*found = steal_pointer(&fallback);
	return 0;
}

/* The canonical absolute path of the program to inspect. */
static int locate(struct ctx *c, const char *program, const char *path_env, char **out)
{
	lb_autofree char *where = NULL;
	if (program[0] == '\0')
		return fail(c, -ENOENT, LB_EXEC_NOT_FOUND, "empty program name");
	if (strchr(program, '/')) {
		if (!(where = strdup(program)))
			return fail_nomem(c);
	} else {
		int r = search_path(c, program, path_env ? path_env : DEFAULT_PATH, &where);
		if (r < 0)
			return r;
	}
	*out = realpath(where, NULL);
	if (*out)
		return 0;
	int e = errno;
	if (e == ENOENT || e == ENOTDIR)
		return fail(c, -ENOENT, LB_EXEC_NOT_FOUND, "no such file");
	if (e == ENOMEM)
		return fail_nomem(c);
	return fail(c, -e, e == EACCES ? LB_EXEC_NOT_EXECUTABLE : LB_EXEC_NOT_FOUND,
		    "cannot resolve the path: %s", strerror(e));
}

int lb_program_inspect(const char *program, const char *path_env, struct lb_program **out,
		       enum lb_exec_problem *problem, char *detail, size_t detail_len)
{
	enum lb_exec_problem dummy = LB_EXEC_OK;
	struct ctx c = {
	    .problem = problem ? problem : &dummy, .detail = detail, .detail_len = detail_len};
	*c.problem = LB_EXEC_OK;
	if (detail && detail_len)
		detail[0] = '\0';
	if (!program || !out)
		return fail(&c, -EINVAL, LB_EXEC_OK, "invalid arguments");
	*out = NULL;
	lb_autofree char *path = NULL;
	int r = locate(&c, program, path_env, &path);
	if (r == 0)
		r = inspect_file(&c, path, 0, out);
	free(c.cache);
	/* Facts are kept when the file was identified but cannot run here. */
	bool keep = *c.problem == LB_EXEC_WRONG_CLASS || *c.problem == LB_EXEC_WRONG_MACHINE ||
		    *c.problem == LB_EXEC_BAD_INTERP;
	if (r < 0 && !keep) {
		lb_program_free(*out);
		*out = NULL;
	}
	return r;
}

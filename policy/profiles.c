/* SPDX-License-Identifier: MIT */
/* The built-in profiles: policy/profiles/NAME.policy, embedded at build
 * time by embed.py into profiles_data.c (lb_profile_texts). */
#include <string.h>

#include "internal.h"

const struct lb_profile_text *lb_profile_find(const char *name)
{
	for (size_t i = 0; name && i < lb_n_profile_texts; i++)
		if (strcmp(lb_profile_texts[i].name, name) == 0)
			return &lb_profile_texts[i];
	return NULL;
}

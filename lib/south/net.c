/* SPDX-License-Identifier: MIT */
/* The south for sockets. */
#include "litebox/south.h"

// SPDX-License-Identifier: GPL-2.0
/* Placeholder until the attach/detach/stats commands land (issue 3). */
#include <stdio.h>
#include "synguard.skel.h"

int main(void)
{
	fprintf(stderr, "synguard: no commands yet\n");
	return 1;
}

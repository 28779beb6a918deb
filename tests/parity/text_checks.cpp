// Parity checks for this model part: see parity.h.
#include "parity.h"

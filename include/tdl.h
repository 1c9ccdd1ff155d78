/* tdl.h: the whole public API of libtdl. */
#ifndef TDL_H
#define TDL_H

#include "tdl/adam.h"
#include "tdl/atomic_file.h"
#include "tdl/csv.h"
#include "tdl/ddpm.h"
#include "tdl/diffusion_train.h"
#include "tdl/distance.h"
#include "tdl/evaluate.h"
#include "tdl/hash.h"
#include "tdl/learn3d.h"
#include "tdl/nn.h"
#include "tdl/noise.h"
#include "tdl/params.h"
#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/provisioner.h"
#include "tdl/quality.h"
#include "tdl/rng.h"
#include "tdl/safetensors.h"
#include "tdl/series.h"
#include "tdl/slots.h"
#include "tdl/source.h"
#include "tdl/status.h"
#include "tdl/synth.h"
#include "tdl/threads.h"
#include "tdl/train.h"
#include "tdl/wdro.h"

#endif

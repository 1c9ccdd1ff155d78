/*
 * synth_profiles.c: the built-in workload profiles of `tdl synth`.
 *
 * The numbers are the output of tools/fit_profiles.py on ../shared/data/azure
 * (moment matching: mean and std exactly, the acf at lags 1..28 by weighted
 * least squares); docs/synthesis.md explains the fit and the shifted profiles.
 * Rerun the script and paste its table to refit.
 */
#include "tdl/synth.h"

#include <stddef.h>
#include <string.h>

/* Fields: name, description, mu, sigma, w_slow, phi_slow, w_fast, phi_fast,
 * cycle, spike_rate, spike_height, spike_decay, lo, hi,
 * target {present, source, n, mean, std, acf{1,7,28}, min, max}. */
static const tdl_synth_profile profiles[] = {
    {"conversation",
     "2023 conversation service (fitted to 23V, one 701-slot period)",
     10.2777627, 0.430342243, 0.622868493, 0.989218056, 0, 0,
     0, 0, 0, 0, 187, 213914,
     {1, "23V.csv", 701, 31899.9572, 14388.69922, {0.588372, 0.536651, 0.432288}, 374, 106957}},
    {"code",
     "2023 coding service (fitted to 23D, one 233-slot period)",
     11.0059931, 0.710178967, 0, 0, 1, 0.32,
     0, 0, 0, 0, 842, 1005892,
     {1, "23D.csv", 233, 77510.61803, 62774.78324, {0.278171, -0.086969, 0.059611}, 1684, 502946}},
    {"conversation-2024",
     "2024 conversation service (fitted to 24V, 3.5 days, daily cycle)",
     12.8096602, 0.287535441, 0.847154823, 0.9999, 0.0846347503, 0.74,
     0.128740048, 0, 0, 0, 43727, 1609924,
     {1, "24V.csv", 60480, 382750.176, 118073.2449, {0.912695, 0.858980, 0.851944}, 87454, 804962}},
    {"code-2024",
     "2024 coding service (fitted to 24D, 3.5 days, daily cycle)",
     11.8498706, 0.660590704, 0.929705575, 0.999651621, 0.0463816171, 0.59,
     0.707209445, 0, 0, 0, 136, 2547710,
     {1, "24D.csv", 60479, 196691.644, 186707.9589, {0.960661, 0.934973, 0.929093}, 272, 1273855}},
    {"conversation-high",
     "conversation, level shift: twice the tokens per slot",
     10.9709099, 0.430342243, 0.622868493, 0.989218056, 0, 0,
     0, 0, 0, 0, 374, 427828,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"conversation-bursty",
     "conversation, burstier: log-spread x1.5, same mean",
     10.1620162, 0.645513364, 0.622868493, 0.989218056, 0, 0,
     0, 0, 0, 0, 187, 855656,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"conversation-daily",
     "conversation with code-2024's daily cycle (amplitude 0.707 in log tokens), same mean",
     10.1564308, 0.430342243, 0.622868493, 0.989218056, 0, 0,
     0.707209445, 0, 0, 0, 187, 855656,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"conversation-spiky",
     "conversation plus bursts: x5 at onset, decay 0.8/slot, one per hour on average",
     10.2777627, 0.430342243, 0.622868493, 0.989218056, 0, 0,
     0, 0.00138888889, 1.60943791, 0.8, 187, 2139140,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"code-high",
     "code, level shift: twice the tokens per slot",
     11.6991403, 0.710178967, 0, 0, 1, 0.32,
     0, 0, 0, 0, 1684, 2011784,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"code-bursty",
     "code, burstier: log-spread x1.5, same mean",
     10.6907718, 1.06526845, 0, 0, 1, 0.32,
     0, 0, 0, 0, 842, 4023568,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"code-daily",
     "code with code-2024's daily cycle (amplitude 0.707 in log tokens), same mean",
     10.8846612, 0.710178967, 0, 0, 1, 0.32,
     0.707209445, 0, 0, 0, 842, 4023568,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
    {"code-spiky",
     "code plus bursts: x5 at onset, decay 0.8/slot, one per hour on average",
     11.0059931, 0.710178967, 0, 0, 1, 0.32,
     0, 0.00138888889, 1.60943791, 0.8, 842, 10058920,
     {0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}},
};

size_t tdl_synth_profile_count(void) { return sizeof profiles / sizeof *profiles; }

const tdl_synth_profile *tdl_synth_profile_at(size_t i) {
    return i < tdl_synth_profile_count() ? &profiles[i] : NULL;
}

const tdl_synth_profile *tdl_synth_profile_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < tdl_synth_profile_count(); i++)
        if (strcmp(profiles[i].name, name) == 0) return &profiles[i];
    return NULL;
}

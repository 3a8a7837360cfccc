# Golden files for healthwatch.surveillance.assess: R's algo.quality on alarms of real datasets.
# Usage: Rscript --vanilla quality.R OUTDIR
# Writes OUTDIR/cases.csv (one row per case: the algo.quality values) and OUTDIR/<case>.csv
# (t, observed, state, alarm over the evaluated range).
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

run_case <- function(case, dataset, method, rng, penalty = 20, obj = NULL) {
  if (is.null(obj)) {
    data(list = dataset, envir = environment())
    obj <- get(dataset, envir = environment())
  }
  res <- suppressWarnings(switch(method,
    rki1 = algo.rki1(obj, control = list(range = rng)),
    bayes1 = algo.bayes1(obj, control = list(range = rng)),
    farrington = algo.farrington(obj, control = list(range = rng, b = 3, w = 3))
  ))
  q <- unlist(algo.quality(res, penalty = penalty))
  write.csv(data.frame(t = rng, observed = obj$observed[rng], state = as.integer(obj$state[rng]),
                       alarm = as.integer(res$alarm)),
            file.path(outdir, paste0(case, ".csv")), row.names = FALSE)
  data.frame(case = case, dataset = dataset, method = method, range_from = min(rng),
             range_to = max(rng), penalty = penalty, TP = q[["TP"]], FP = q[["FP"]],
             TN = q[["TN"]], FN = q[["FN"]], sens = q[["sens"]], spec = q[["spec"]],
             dist = q[["dist"]], mlag = q[["mlag"]])
}

set.seed(20130101)
sim <- sim.pointSource(p = 0.99, r = 0.5, length = 400, A = 1, alpha = 1, beta = 0, phi = 0,
                       frequency = 1, state = NULL, K = 1.7)
rows <- rbind(
  run_case("m2_rki1", "m2", "rki1", 60:209),
  run_case("m3_rki1", "m3", "rki1", 60:209),
  run_case("h1_rki1", "h1_nrwrp", "rki1", 60:209),
  run_case("h1_bayes1", "h1_nrwrp", "bayes1", 60:209, penalty = 5),
  run_case("h1_farrington", "h1_nrwrp", "farrington", 160:209),
  run_case("k1_rki1", "k1", "rki1", 60:209),
  run_case("sim_rki1", "sim.pointSource", "rki1", 50:400, obj = sim),
  run_case("sim_bayes1", "sim.pointSource", "bayes1", 50:400, penalty = 10, obj = sim)
)
write.csv(rows, file.path(outdir, "cases.csv"), row.names = FALSE)

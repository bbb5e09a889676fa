package layout

// ModelIDs are the four models of a bundle, in a fixed order (the order of
// the manifest checks, of training and of the loss plot's panels): side
// ("server", "client") and kind ("packet", "burst").
var ModelIDs = []string{"server-packet", "client-packet", "server-burst", "client-burst"}

// LossLogName is the loss log's file name in a bundle directory.
const LossLogName = "loss.csv"

// LossHeader is the loss log's header (loss log format 2). val_ks and
// val_c2st are the validation scores, empty on rows without a validation
// check.
var LossHeader = []string{"model", "step", "g_loss", "critic_real", "critic_fake", "wasserstein", "penalty", "val_ks", "val_c2st"}

// LossHeaderV1 is the header of format 1 logs, whose validation columns
// were named heldout_*. Readers accept it; a resumed training run rewrites
// the log in format 2.
var LossHeaderV1 = []string{"model", "step", "g_loss", "critic_real", "critic_fake", "wasserstein", "penalty", "heldout_ks", "heldout_c2st"}

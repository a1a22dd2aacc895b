import path from 'node:path';

// Every engine a test makes, in-process or in a spawned ctr or ctrd, reads the host's
// resolver configuration from here instead of /etc/resolv.conf.
process.env.CTR_RESOLV_CONF = path.join(__dirname, 'resolv.conf');

// The docker reference grammar (distribution/reference), without the parts the bot never needs.
// Its own module, so that the docker destination's option schema needs nothing else (CLI start-up).
const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:localhost|${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})+|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?|${HOST_COMPONENT}:[0-9]{1,5}`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
/** `registry.example.com[:port]/org/name`: an explicit registry host, no tag, no digest, no transport. */
export const IMAGE_REPOSITORY = new RegExp(`^(${HOST})/(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)$`);

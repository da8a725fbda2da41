'use strict';
// A Serverless Framework plugin (listed in serverless.yml) that checks the stage name before
// anything is packaged: the stage is part of the inbound bucket's name
// (<service>-<stage>-inbound-<account id>-<region>), and a name S3 refuses would otherwise fail
// only minutes into the deploy, inside CloudFormation.

/** S3's limit for a bucket name. */
const BUCKET_NAME_LIMIT = 63;
/** An account id is always 12 digits. */
const ACCOUNT_ID_LENGTH = 12;

/**
 * Why this stage cannot be deployed in this region, or null. Pure, so it is tested directly.
 * @param {string} service
 * @param {string} stage
 * @param {string} region
 * @returns {string | null}
 */
function stageNameProblem(service, stage, region) {
  if (!/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(stage)) {
    return (
      `The stage name "${stage}" cannot be used: it is part of S3 bucket names, which allow only ` +
      'lowercase letters, digits and hyphens (not at the start or end).'
    );
  }
  const fixed = `${service}--inbound--${region}`.length + ACCOUNT_ID_LENGTH;
  const room = BUCKET_NAME_LIMIT - fixed;
  if (stage.length > room) {
    return (
      `The stage name "${stage}" is ${stage.length} characters; in ${region} it may have at most ` +
      `${room}: the inbound bucket is named ${service}-<stage>-inbound-<account id>-${region}, ` +
      `and S3 bucket names have at most ${BUCKET_NAME_LIMIT} characters.`
    );
  }
  return null;
}

class CheckStageName {
  constructor(serverless) {
    const check = () => {
      const provider = serverless.getProvider('aws');
      const stage = provider.getStage();
      const region = provider.getRegion();
      const problem = stageNameProblem(serverless.service.service, stage, region);
      if (problem) throw new serverless.classes.Error(problem, 'INVALID_STAGE_NAME');
    };
    // Before cleanup: a refused stage leaves the last package (.serverless/) as it was.
    this.hooks = { 'before:package:cleanup': check };
  }
}

module.exports = CheckStageName;
module.exports.stageNameProblem = stageNameProblem;
